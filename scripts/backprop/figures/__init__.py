"""The backprop explainer's figures: one script per figure, each named as the figure it draws."""
