"""Building models without writing them: a palette of modules, a tree of specs that builds,
validates and round-trips, and shapes inferred as you build.

Example::

    from gradstudio.core.builder import ModuleSpec as M, infer_shapes
    net = M.of("Sequential", M.of("Linear", in_features=4, out_features=8), M.of("ReLU"),
               M.of("Linear", in_features=8, out_features=2))
    infer_shapes(net, (16, 4)).nodes["model.children[2]"].output_shape   # (16, 2)
    model = net.build()
"""

from .codegen import python_script, python_source
from .layers import BilinearSelf, Repeat, Residual, SelfAttention, SequenceOutput, count_parameters
from .palette import GROUPS, KINDS, USER_GROUP, ArgSpec, ModuleKind
from .user_modules import register_user_modules
from .shapes import ShapeMismatch, ShapeReport, infer_shapes
from .spec import ModuleSpec, SpecError

__all__ = [
    "ModuleSpec", "SpecError", "KINDS", "GROUPS", "USER_GROUP", "register_user_modules", "ArgSpec", "ModuleKind", "infer_shapes", "ShapeReport",
    "ShapeMismatch", "python_source", "python_script", "Residual", "Repeat", "SequenceOutput", "SelfAttention", "BilinearSelf", "count_parameters",
]
