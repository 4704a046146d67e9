/** QA buffer names (API §7): a buffer's name becomes its file name, so it never holds a separator and never starts with a dot. */
export const BUFFER_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
/** A journal's workspace tag: a workspace name `org/repo/leaf`, or a single name (a buffer's, when none was given). */
export const WORKSPACE_TAG_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,2}$'
export const BUFFER_NAME = new RegExp(BUFFER_NAME_PATTERN)
