"""DICOMweb: studies from a PACS (QIDO-RS, WADO-RS) and results back to it (STOW-RS).

Plain Python (dicomweb-client, pydicom, highdicom): no Qt, no torch. The CLI and the window
put these parts together with the analysis (bvae_viewer/pipeline/pacs_run.py).
"""
