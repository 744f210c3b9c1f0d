"""Where patients come from, behind the ``PatientSource`` protocol (``base``): native JSON
profiles (``native``), FHIR R4 Bundles (``fhir/``), files of either kind (``files``), and the
JSON-location helper that points errors at a line and column (``location``).

Belongs here: turning external records into validated ``model.Patient`` objects, with located
errors and the list of what could not be used. Not here: evaluation (``engine``), rule files
(``rules``), batch bookkeeping (``batch``). ``sources/omop/`` is reserved for the OMOP adapter.
"""
