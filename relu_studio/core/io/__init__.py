"""ReLU Studio's files: sessions, run histories, data CSV, torch state dicts, animations,
autosave, and the atomic writes they all use. No Qt; torch only inside ``torch_files``' functions."""
