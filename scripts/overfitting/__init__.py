"""The overfitting-puzzle explainer: the claims check, the run-to-run spread, and the figures."""
