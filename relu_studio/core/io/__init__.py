"""ReLU Studio's files: sessions, run histories, data CSV, torch state dicts, animations,
autosave, and the atomic writes they all use. No Qt, and no torch: ``.pt`` files are read and
written by ``pt_format`` (with ``pt_unpickler`` and ``pt_tensors``); ``torch_files`` checks them
against the notebook's model."""
