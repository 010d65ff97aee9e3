"""gan_eval: judge GAN-generated multi-sequence liver MRI the way the SFR 2021 jury did.

A plain library (no Streamlit import). See README.md and ../shared/DESIGN.md.
"""

__version__ = "0.1.0"
