"""The MNIST application: training recipes and presets, repeated experiments, reading a
person's image of a digit, and the models barenet ships. Built on the library alone."""
