# Basics: tensors work like numpy arrays, and backward() finds gradients.
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)  # a leaf: we want d(loss)/dx
w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)

y = x * w            # elementwise, like numpy
z = y.sum() + x.pow(2).mean()
loss = z * 2

loss.backward()      # fills x.grad and w.grad
print(x.grad, w.grad)
