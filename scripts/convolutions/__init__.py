"""The 1D/2D/3D convolutions explainer: convolutions computed by torch, the claims check, and the figures."""
