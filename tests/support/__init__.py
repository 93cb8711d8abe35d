"""What several test folders share: the moto world and its call log, faults at the AWS boundary, the strict AWS layer
every test runs in (`strict`), the templates and handlers (`sam`), and the common statements."""
