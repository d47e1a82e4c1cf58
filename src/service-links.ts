/**
 * Kubernetes service links: the kubelet gives every pod variables for each Service in its
 * namespace, named after the Service upper-cased with dashes as underscores (docker links'
 * names): `TSUV_APP_SERVICE_HOST=10.96.0.12`, `TSUV_APP_PORT=tcp://10.96.0.12:8000`,
 * `TSUV_APP_PORT_8000_TCP_ADDR=10.96.0.12`, ... for a Service named tsuv-app (deploy/k8s.yaml's).
 * They start with TSUV_ whenever a Service's name starts with tsuv-, and a Service named tsuv sets
 * TSUV_PORT itself, to a URL. They are not settings: tsuv leaves them alone and says why.
 */

const LINK_URL = /^(?:tcp|udp|sctp):\/\/\S+:\d+$/;
const LINK_NAME = /_SERVICE_HOST$|_SERVICE_PORT(?:_\w+)?$|_PORT_\d+_(?:TCP|UDP|SCTP)_(?:PROTO|PORT|ADDR)$/;
const LINK_URL_NAME = /_PORT(?:_\d+_(?:TCP|UDP|SCTP))?$/;

/** True for a variable the kubelet sets for a Service (a name and value of that shape). */
export function isServiceLink(name: string, value: string): boolean {
  return LINK_NAME.test(name) || (LINK_URL_NAME.test(name) && LINK_URL.test(value));
}

/** The start-up warning for a setting's variable that holds a service link instead (TSUV_PORT). */
export function serviceLinkWarning(name: string, value: string): string {
  const service = name
    .replace(/_PORT$/, "")
    .toLowerCase()
    .replace(/_/g, "-");
  return `${name} is ${value}, the variable Kubernetes sets for a Service named ${service} (a service link), not a setting: ignored. Rename the Service, or set enableServiceLinks: false in the pod spec.`;
}
