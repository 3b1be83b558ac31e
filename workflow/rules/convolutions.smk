# Convolutions explainer: 1D, 2D and 3D convolutions computed by torch, their figures and claims.
