"""The theory lens: why the elbows move, the gradient features, the convex output-layer case.

Everything here is exact arithmetic on one network and one data set, in float64 from the
network's float32 parameters (the network's own float32 forward pass is what training uses; the
lens explains it, so it works in the precision a reference such as torch autograd in float64
would):

* :mod:`.gradients` -- the full-batch MSE gradient and what one SGD step does with it: the
  elbow velocity ``de = -(db w - b dw) / w^2`` (HW0 P6) and the slope handles' change.
* :mod:`.gradient_features` -- the Jacobian of the output with respect to all parameters at the
  training inputs, its singular values and singular vectors as functions of x (HW1 P6).
* :mod:`.ridge_distance` -- how far the output layer is from the ridge optimum on the same
  hidden features, snapshot by snapshot (the convex case's theorem).
* :mod:`.loss_slice` -- the training MSE over a grid of two chosen parameters, others fixed,
  and the path SGD took in those two parameters.
"""
