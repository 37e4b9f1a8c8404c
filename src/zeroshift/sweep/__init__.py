"""Sweeps: a plan's models x suites as resumable tasks (one per model) on worker processes or a Ray cluster.

- :mod:`.planfile`: the plan file (models, catalogue selections, suites, shared protocol options);
- :mod:`.catalogue`: catalogue selections -> model specs (:func:`resolve_catalogue`);
- :mod:`.tasks`: one task per model, every item checked first, conditions already stored marked;
- :mod:`.worker`: one attempt of a task in a worker (events, never a store write);
- :mod:`.local`, :mod:`.ray_exec`: the executors;
- :mod:`.driver`: attempts, retries and the one place records are written;
- :mod:`.progress`, :mod:`.estimate`: progress bars and summary; the dry run's images and compute.

Example:
    >>> from zeroshift.sweep.planfile import parse_plan
    >>> parse_plan({"models": ["zoo:*"], "suites": ["calibration"]}).model_specs()[:1]
    ['zoo:clip-cnn-diverse']

"""
