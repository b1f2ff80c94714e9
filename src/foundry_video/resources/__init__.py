"""API resources hanging off :class:`~foundry_video.VideoClient`."""
