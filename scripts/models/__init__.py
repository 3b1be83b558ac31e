"""The trained networks both the overfitting and the convolutions explainers read: the validation split,
training, the calibration maths of the per-epoch diagnostics, and torch-free readers of the outputs."""
