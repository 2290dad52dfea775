"""Getting frames in: file loading and validation (the watcher and checkpoints join later)."""
