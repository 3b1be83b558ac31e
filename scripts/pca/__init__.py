"""The PCA explainer: the fit, the source thread's claims checked, and the figures (``pca/figures/``)."""
