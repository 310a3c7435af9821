"""Model export for fast inference: ONNX files that ``footreid embed`` runs with ONNX Runtime.

``export_onnx(source, out)`` is the one call behind ``footreid export-onnx``.
"""

from footreid.export.onnx import OnnxExport, export_onnx, onnx_parity

__all__ = ["OnnxExport", "export_onnx", "onnx_parity"]
