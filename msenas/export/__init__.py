"""Trained networks in formats other tools read: NIR graphs (nir_graph.py writes, nir_torch.py runs one)."""
