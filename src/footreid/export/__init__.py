"""Models out of footreid: ONNX files, model folders (and the hub), torchreid/BoxMOT files.

``export_onnx`` is the call behind ``footreid export-onnx``; ``export_model_folder`` and
``export_torchreid`` behind ``footreid export-model`` (``--format folder|torchreid``);
``push_model_folder`` behind ``footreid push-model``. ``load_model_folder`` and
``download_model_folder`` read folders back (``footreid.load``).
"""

from footreid.export.folder import ModelFolder, export_model_folder, load_model_folder
from footreid.export.hub import download_model_folder, is_hub_name, push_model_folder
from footreid.export.onnx import OnnxExport, export_onnx, onnx_parity
from footreid.export.torchreid import TorchreidExport, export_torchreid

__all__ = [
    "ModelFolder",
    "OnnxExport",
    "TorchreidExport",
    "download_model_folder",
    "export_model_folder",
    "export_onnx",
    "export_torchreid",
    "is_hub_name",
    "load_model_folder",
    "onnx_parity",
    "push_model_folder",
]
