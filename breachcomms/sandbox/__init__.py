"""A local HTTP server speaking the SendGrid and Twilio contracts, for the demo, the tests and the benchmarks."""
