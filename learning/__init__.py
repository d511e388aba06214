"""The learning loop: review queue, labels, masking, model registry, export, held-out scoring, gate, retrain."""
