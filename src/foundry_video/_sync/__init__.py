"""The blocking client: :class:`SyncVideoClient` and its resources, jobs and pager.

Nothing here talks to the service itself: every call runs the async implementation on a
private event-loop thread (an anyio blocking portal, see ``_runtime``).
"""

from ._client import SyncVideoClient
from ._job import SyncGenerationJob, SyncJob, SyncVideoJob
from ._resources import SyncGenerationJobs, SyncPager, SyncVideos

__all__ = ["SyncGenerationJob", "SyncGenerationJobs", "SyncJob", "SyncPager",
           "SyncVideoClient", "SyncVideoJob", "SyncVideos"]
