"""The intent model: training data, held-out evaluation and the learning-loop code."""
