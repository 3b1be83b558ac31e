"""The backpropagation explainer: the puzzle story simulated, the hand-written network, claims and figures."""
