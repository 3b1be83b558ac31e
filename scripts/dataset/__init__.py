"""The data stage: fetch the four official Fashion-MNIST files (verified) and parse them into one array."""
