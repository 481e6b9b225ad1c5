"""The staff's use cases (documents, feedback and exports, consolidation, meetings, reporting, mood, API
keys, audit), each ``verb_noun(*, uow, ...)`` over a :class:`core.staff.ports.StaffUnitOfWork`, called
alike by the API, the CLI and the staff console. File formats are rendered at the edge (passed in as
``render`` callables); every action that exports or changes something writes its audit row in the same
transaction."""
