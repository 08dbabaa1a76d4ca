"""One screen per wizard step, plus Troubleshooting, Report and the confirmation."""
