/** The longest a claim may wait for work, in seconds: the service's bound, which the CLI's waits and timeouts follow. */
export const MAX_CLAIM_WAIT_S = 60
