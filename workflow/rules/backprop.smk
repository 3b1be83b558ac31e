# Backpropagation explainer: the puzzle story simulated, and a three-layer network's gradients by hand and by autograd.
