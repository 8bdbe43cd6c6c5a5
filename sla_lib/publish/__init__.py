"""Reports as files: the report kinds, rendering notebooks to offline HTML, fingerprints, the archive index, the scheduled job."""
