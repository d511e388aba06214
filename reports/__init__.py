"""Reports for managers: complaint-reason analysis as a table, a CSV file and a PNG chart (crm computes, this draws)."""
