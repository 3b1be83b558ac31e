"""Shared by every script: IO and atomic writes (``io``), the command line (``cli``), the prepared
dataset (``dataset``), the plot style (``plotstyle``) and the figure-script frame (``figure``)."""
