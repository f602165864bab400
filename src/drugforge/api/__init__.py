"""The REST API (``drugforge serve``): a front end like the CLI, calling the same workflows with
the same config models, so both accept the same settings and give the same errors."""
