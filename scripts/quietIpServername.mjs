// grpc-js passes the endpoint's host as the TLS server name (SNI) even when
// it is an IP address (127.0.0.1:7001), and Node warns about that once per
// process (DEP0123, "Setting the TLS ServerName to an IP address..."). The
// certificate check is unaffected (it matches the IP against the IP SANs);
// only the SNI extension is dropped. Our own commands hide that one warning
// so TLS output stays clean; every other warning still prints.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? rest[0].code : rest[1];
  if (code === 'DEP0123') return;
  emitWarning(warning, ...rest);
};
