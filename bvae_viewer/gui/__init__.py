"""The review window (PySide6 + pyqtgraph); the only package that imports Qt.

Entry point: ``bvae_viewer.gui.app.run_gui``.
"""
