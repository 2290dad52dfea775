"""The pipeline: one frame in, one FrameResult out, for batch commands, the daemon and tests."""
