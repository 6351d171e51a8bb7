"""Health alerts: the service watches its feeds, targets and stages, and says so once.

``core`` is the pure state machine (observations in, start/recover transitions
out); ``monitor`` is the thin async adapter the dispatcher runs.
"""
