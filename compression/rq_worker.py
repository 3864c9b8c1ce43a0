"""The RQ worker class `manage.py worker` runs when TASKS_BACKEND=rq (imported only then).

rq 3.0.0 parks its pubsub thread (which listens for stop/kill commands) in 60 s waits and stops it
with `pubsub.unsubscribe()`, `thread.stop()`, `thread.join(timeout=1)`. redis-py 8.1's
`PubSubWorkerThread.stop()` itself joins the thread, with no timeout by default. When the thread
has already read the unsubscribe reply, it sleeps up to 60 s waiting to be subscribed again, and
the worker's shutdown waits with it. That made SIGTERM on an idle worker take up to a minute
(seen in `bench/workers.py --backend rq`; the stack of the stuck worker ends in `stop` -> `join`).
Here the wait is bounded, as rq intends: the thread is a daemon that holds only its own connection.
"""

from rq import Worker

PUBSUB_STOP_SECONDS = 1


class PromptShutdownWorker(Worker):
    def unsubscribe(self):
        if self.pubsub_thread:
            self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
            self.pubsub.unsubscribe()
            self.pubsub_thread.stop(timeout=PUBSUB_STOP_SECONDS)
            self.pubsub.close()
