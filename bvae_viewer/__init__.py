"""bvae-viewer: review brain MRI with an uncertainty-aware Bayesian VAE (research use only)."""

__version__ = "0.1.0"
