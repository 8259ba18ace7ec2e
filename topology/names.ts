/** Prometheus name syntax, shared by the topology schema and the relabel rules' schema. */
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
