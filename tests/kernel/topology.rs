//! The two-node "cluster" built from namespaces: router (standing in for a packet-forwarding
//! load balancer too), clients, nodes with a bridge CNI, pods.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::netns::{self, NamespaceGuard};

/// The router's address on the external network (203.0.113.0/25).
pub(crate) const ROUTER_EXTERNAL: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
/// A client outside the cluster, one routed hop away from the nodes, inside the
/// LoadBalancer source range [`SOURCE_RANGE`].
pub(crate) const EXTERNAL_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
/// The `loadBalancerSourceRanges` entry of the ranged LoadBalancer service: the external
/// network of [`EXTERNAL_CLIENT`] (as K128's `TestLoadBalancer`: 203.0.113.0/25).
pub(crate) const SOURCE_RANGE: &str = "203.0.113.0/25";
/// The router's address on the second external network (203.0.113.128/25).
pub(crate) const ROUTER_OUTSIDE_RANGE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 129);
/// A client outside the cluster and outside [`SOURCE_RANGE`] (K128's
/// `testExternalClientBlocked` is 203.0.113.130 too).
pub(crate) const OUTSIDE_RANGE_CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 130);
/// The LoadBalancer IP of the scenario's service (no source ranges). No node has it as an
/// address: the router routes it to one node, like a packet-forwarding load balancer that
/// keeps the client's source (MetalLB's layer-2 mode, a cloud LB in "direct server return").
pub(crate) const LOAD_BALANCER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 80);
/// The LoadBalancer IP of the service restricted to [`SOURCE_RANGE`]; routed like
/// [`LOAD_BALANCER_IP`].
pub(crate) const RANGED_LOAD_BALANCER_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 81);
/// The externalIP of the scenario's service; routed like [`LOAD_BALANCER_IP`] (an admin's
/// static route to a node).
pub(crate) const EXTERNAL_IP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 90);
/// An address no rule of any scenario names (not a service's, not a node's), routed like
/// [`LOAD_BALANCER_IP`]: what a node does with a packet kube-proxy does not handle.
pub(crate) const UNNAMED_ADDRESS: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 99);
/// The addresses the router routes to the node a probe names ([`Topology::route_service_addresses_via`]).
const ROUTED_SERVICE_ADDRESSES: [Ipv4Addr; 4] = [
    LOAD_BALANCER_IP,
    RANGED_LOAD_BALANCER_IP,
    EXTERNAL_IP,
    UNNAMED_ADDRESS,
];
/// The router's address on the node network.
pub(crate) const ROUTER_NODE_NET: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// A client on the nodes' own subnet.
pub(crate) const SUBNET_CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);
/// The cluster CIDR used by kube-proxy's local-traffic detector; covers both pod ranges.
pub(crate) const CLUSTER_CIDR: &str = "198.18.0.0/16";
/// The port every backend pod listens on.
pub(crate) const BACKEND_PORT: u16 = 8080;

/// One of the two cluster nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) enum NodeId {
    Node1,
    Node2,
}

impl NodeId {
    pub(crate) const ALL: [NodeId; 2] = [NodeId::Node1, NodeId::Node2];

    /// Short namespace name.
    pub(crate) fn short_name(self) -> &'static str {
        match self {
            NodeId::Node1 => "node1",
            NodeId::Node2 => "node2",
        }
    }

    /// The node's address on the node network.
    pub(crate) fn ip(self) -> Ipv4Addr {
        match self {
            NodeId::Node1 => Ipv4Addr::new(192, 0, 2, 11),
            NodeId::Node2 => Ipv4Addr::new(192, 0, 2, 12),
        }
    }

    /// The node's address on its pod bridge (the pods' gateway).
    pub(crate) fn bridge_ip(self) -> Ipv4Addr {
        match self {
            NodeId::Node1 => Ipv4Addr::new(198, 18, 1, 1),
            NodeId::Node2 => Ipv4Addr::new(198, 18, 2, 1),
        }
    }

    /// The node's pod range.
    pub(crate) fn pod_cidr(self) -> &'static str {
        match self {
            NodeId::Node1 => "198.18.1.0/24",
            NodeId::Node2 => "198.18.2.0/24",
        }
    }

    /// The backend pod scheduled on this node.
    pub(crate) fn backend(self) -> SocketAddrV4 {
        let ip = match self {
            NodeId::Node1 => Ipv4Addr::new(198, 18, 1, 10),
            NodeId::Node2 => Ipv4Addr::new(198, 18, 2, 10),
        };
        SocketAddrV4::new(ip, BACKEND_PORT)
    }

    /// The client pod on this node, used for the hairpin probes.
    pub(crate) fn client_pod(self) -> Ipv4Addr {
        match self {
            NodeId::Node1 => Ipv4Addr::new(198, 18, 1, 20),
            NodeId::Node2 => Ipv4Addr::new(198, 18, 2, 20),
        }
    }

    pub(crate) fn other(self) -> NodeId {
        match self {
            NodeId::Node1 => NodeId::Node2,
            NodeId::Node2 => NodeId::Node1,
        }
    }
}

/// The node a backend pod runs on.
pub(crate) fn node_of(backend: SocketAddrV4) -> Option<NodeId> {
    NodeId::ALL
        .into_iter()
        .find(|node| node.backend() == backend)
}

/// The source address a MASQUERADE on `node` gives a connection to `backend`: the primary
/// address of the interface toward it, the pod bridge for a backend on the same node and
/// the node-network address for one on the other node. `None` for an unknown backend.
pub(crate) fn masquerade_source(node: NodeId, backend: SocketAddrV4) -> Option<Ipv4Addr> {
    let backend_node = node_of(backend)?;
    Some(if backend_node == node {
        node.bridge_ip()
    } else {
        node.ip()
    })
}

/// A place a probe or server can run in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    ExternalClient,
    OutsideRangeClient,
    SubnetClient,
    Node(NodeId),
    BackendPod(NodeId),
    ClientPod(NodeId),
}

impl Place {
    fn short_name(self) -> &'static str {
        match self {
            Place::ExternalClient => "external",
            Place::OutsideRangeClient => "outside",
            Place::SubnetClient => "subnet",
            Place::Node(node) => node.short_name(),
            Place::BackendPod(NodeId::Node1) => "n1-backend",
            Place::BackendPod(NodeId::Node2) => "n2-backend",
            Place::ClientPod(NodeId::Node1) => "n1-client",
            Place::ClientPod(NodeId::Node2) => "n2-client",
        }
    }
}

/// Facts about the kernel the topology runs on, worth printing next to the results.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct KernelFacts {
    /// `net.bridge.bridge-nf-call-iptables` inside node1 after setup, `None` when
    /// br_netfilter is not available (then bridged hairpin replies skip conntrack).
    pub(crate) bridge_nf_call_iptables: Option<String>,
    pub(crate) kernel_release: String,
}

/// The built namespaces; dropping this deletes all of them.
pub(crate) struct Topology {
    namespaces: NamespaceGuard,
    pub(crate) facts: KernelFacts,
    /// The node the router currently sends [`ROUTED_SERVICE_ADDRESSES`] to.
    service_addresses_routed_via: Cell<NodeId>,
}

impl Topology {
    /// Builds the whole topology; on error everything created so far is removed.
    pub(crate) fn build() -> Result<Self, String> {
        let mut namespaces = NamespaceGuard::new();
        build_into(&mut namespaces)?;
        let node1 = namespaces.full_name(Place::Node(NodeId::Node1).short_name());
        let facts = KernelFacts {
            bridge_nf_call_iptables: netns::read_sysctl(
                &node1,
                "net/bridge/bridge-nf-call-iptables",
            )?,
            kernel_release: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|text| text.trim().to_owned())
                .unwrap_or_default(),
        };
        Ok(Self {
            namespaces,
            facts,
            service_addresses_routed_via: Cell::new(NodeId::Node1),
        })
    }

    /// Makes the router send the LoadBalancer IPs, the externalIP and the address no rule
    /// names to `node` (a no-op when it already does): the load balancer's choice of node for
    /// the next probe.
    pub(crate) fn route_service_addresses_via(&self, node: NodeId) -> Result<(), String> {
        if self.service_addresses_routed_via.get() == node {
            return Ok(());
        }
        route_service_addresses(&self.router_namespace(), node)?;
        self.service_addresses_routed_via.set(node);
        Ok(())
    }

    /// Full namespace name of a place.
    pub(crate) fn namespace(&self, place: Place) -> String {
        self.namespaces.full_name(place.short_name())
    }

    /// Makes `address` a local address of `node` (on its loopback, as cloud agents add a
    /// load balancer's IP to the node's local table) until the guard is dropped.
    pub(crate) fn add_local_address(
        &self,
        node: NodeId,
        address: Ipv4Addr,
    ) -> Result<LocalAddress, String> {
        let namespace = self.namespace(Place::Node(node));
        let cidr = format!("{address}/32");
        netns::ip_in(&namespace, &["addr", "add", &cidr, "dev", "lo"])?;
        Ok(LocalAddress { namespace, cidr })
    }

    /// Full namespace name of the router (the load balancer too).
    pub(crate) fn router_namespace(&self) -> String {
        self.namespaces.full_name("router")
    }

    /// The prefix shared by every namespace of this run.
    pub(crate) fn prefix(&self) -> String {
        self.namespaces.full_name("")
    }
}

/// An address added to a node's loopback by [`Topology::add_local_address`]; removed on drop.
pub(crate) struct LocalAddress {
    namespace: String,
    cidr: String,
}

impl Drop for LocalAddress {
    fn drop(&mut self) {
        if let Err(error) = netns::ip_in(&self.namespace, &["addr", "del", &self.cidr, "dev", "lo"])
        {
            eprintln!(
                "warning: could not remove {} from {}: {error}",
                self.cidr, self.namespace
            );
        }
    }
}

fn build_into(namespaces: &mut NamespaceGuard) -> Result<(), String> {
    let router = namespaces.add("router")?;
    let external = namespaces.add(Place::ExternalClient.short_name())?;
    let outside = namespaces.add(Place::OutsideRangeClient.short_name())?;
    let subnet = namespaces.add(Place::SubnetClient.short_name())?;

    // The router: two external networks on one side, a bridge (the node "switch") on the
    // other.
    disable_reverse_path_filter(&router)?;
    netns::set_sysctl(&router, "net/ipv4/ip_forward", "1")?;
    // It forwards some packets back out of the interface they came in by (a service address
    // routed to a node that sends the packet back): no ICMP redirects for those.
    netns::set_sysctl(&router, "net/ipv4/conf/all/send_redirects", "0")?;
    netns::set_sysctl(&router, "net/ipv4/conf/default/send_redirects", "0")?;
    // ICMP errors it sends (time exceeded at the end of a routing loop) must reach every
    // parallel attempt, as on the nodes.
    lift_icmp_rate_limits(&router)?;
    netns::ip_in(&router, &["link", "add", "srk-switch", "type", "bridge"])?;
    netns::ip_in(
        &router,
        &[
            "addr",
            "add",
            &format!("{ROUTER_NODE_NET}/24"),
            "dev",
            "srk-switch",
        ],
    )?;
    netns::ip_in(&router, &["link", "set", "srk-switch", "up"])?;

    for (router_port, client, client_ip, router_ip) in [
        ("srk-to-ext", &external, EXTERNAL_CLIENT, ROUTER_EXTERNAL),
        (
            "srk-to-outside",
            &outside,
            OUTSIDE_RANGE_CLIENT,
            ROUTER_OUTSIDE_RANGE,
        ),
    ] {
        netns::add_veth(&router, router_port, client, "srk-uplink")?;
        netns::ip_in(
            &router,
            &[
                "addr",
                "add",
                &format!("{router_ip}/25"),
                "dev",
                router_port,
            ],
        )?;
        netns::ip_in(&router, &["link", "set", router_port, "up"])?;
        configure_host(client, "srk-uplink", client_ip, 25, router_ip)?;
    }

    attach_to_switch(&router, "srk-to-subnet", &subnet)?;
    configure_host(&subnet, "srk-uplink", SUBNET_CLIENT, 24, ROUTER_NODE_NET)?;

    for node in NodeId::ALL {
        build_node(namespaces, &router, node)?;
        // The router knows the pod ranges (as with a CNI that announces them, e.g. by BGP),
        // so the ICMP errors it sends to pods reach them. Nothing probes a pod directly.
        netns::ip_in(
            &router,
            &[
                "route",
                "add",
                node.pod_cidr(),
                "via",
                &node.ip().to_string(),
            ],
        )?;
    }
    for address in ROUTED_SERVICE_ADDRESSES {
        netns::ip_in(
            &router,
            &[
                "route",
                "add",
                &format!("{address}/32"),
                "via",
                &NodeId::Node1.ip().to_string(),
            ],
        )?;
    }
    Ok(())
}

/// `ip route replace <address>/32 via <node>` for every routed service address.
fn route_service_addresses(router: &str, node: NodeId) -> Result<(), String> {
    for address in ROUTED_SERVICE_ADDRESSES {
        netns::ip_in(
            router,
            &[
                "route",
                "replace",
                &format!("{address}/32"),
                "via",
                &node.ip().to_string(),
            ],
        )?;
    }
    Ok(())
}

/// REJECT answers with ICMP port-unreachable and a routing loop ends in ICMP time-exceeded;
/// the kernel rate-limits both per destination (a burst of 6, then one per second), so
/// twelve parallel attempts would see half of them time out. Real clients retry slowly, so
/// turn the limit off here. The global ICMP limiter too (a burst of 50, each message taking
/// a random 0 to 2 credits on recent kernels): CI once saw one of twelve rejected attempts
/// time out. Only where the namespace has the keys: kernels that keep them global show them
/// in the initial namespace only, and the host's settings are not ours to change.
fn lift_icmp_rate_limits(namespace: &str) -> Result<(), String> {
    netns::set_sysctl(namespace, "net/ipv4/icmp_ratelimit", "0")?;
    for (key, value) in [
        ("net/ipv4/icmp_msgs_per_sec", "100000"),
        ("net/ipv4/icmp_msgs_burst", "100000"),
    ] {
        if netns::read_sysctl(namespace, key)?.is_some() {
            netns::set_sysctl(namespace, key, value)?;
        }
    }
    Ok(())
}

fn build_node(namespaces: &mut NamespaceGuard, router: &str, node: NodeId) -> Result<(), String> {
    let name = namespaces.add(Place::Node(node).short_name())?;
    disable_reverse_path_filter(&name)?;
    netns::set_sysctl(&name, "net/ipv4/ip_forward", "1")?;
    // kube-proxy sets this so that DNATed 127.0.0.1:nodePort traffic may leave the host.
    netns::set_sysctl(&name, "net/ipv4/conf/all/route_localnet", "1")?;
    netns::set_sysctl(&name, "net/ipv4/conf/all/send_redirects", "0")?;
    netns::set_sysctl(&name, "net/ipv4/conf/default/send_redirects", "0")?;
    lift_icmp_rate_limits(&name)?;
    // With br_netfilter, bridged pod-to-pod frames (the hairpin reply) pass through
    // conntrack and get un-DNATed, as on a real node; set it wherever the kernel has it.
    if netns::read_sysctl(&name, "net/bridge/bridge-nf-call-iptables")?.is_some() {
        netns::set_sysctl(&name, "net/bridge/bridge-nf-call-iptables", "1")?;
    }

    let switch_port = format!("srk-to-{}", node.short_name());
    attach_to_switch(router, &switch_port, &name)?;
    configure_host(&name, "srk-uplink", node.ip(), 24, ROUTER_NODE_NET)?;
    let other = node.other();
    netns::ip_in(
        &name,
        &[
            "route",
            "add",
            other.pod_cidr(),
            "via",
            &other.ip().to_string(),
        ],
    )?;

    // The bridge CNI: a bridge holding the pod gateway address, one veth per pod.
    netns::ip_in(&name, &["link", "add", "srk-cni", "type", "bridge"])?;
    netns::ip_in(
        &name,
        &[
            "addr",
            "add",
            &format!("{}/24", node.bridge_ip()),
            "dev",
            "srk-cni",
        ],
    )?;
    netns::ip_in(&name, &["link", "set", "srk-cni", "up"])?;

    let backend = namespaces.add(Place::BackendPod(node).short_name())?;
    add_pod(
        &name,
        "srk-pod-backend",
        &backend,
        *node.backend().ip(),
        node.bridge_ip(),
    )?;
    let client = namespaces.add(Place::ClientPod(node).short_name())?;
    add_pod(
        &name,
        "srk-pod-client",
        &client,
        node.client_pod(),
        node.bridge_ip(),
    )?;
    Ok(())
}

fn add_pod(
    node: &str,
    bridge_port: &str,
    pod: &str,
    ip: Ipv4Addr,
    gateway: Ipv4Addr,
) -> Result<(), String> {
    netns::add_veth(node, bridge_port, pod, "srk-eth")?;
    netns::ip_in(
        node,
        &["link", "set", bridge_port, "master", "srk-cni", "up"],
    )?;
    // Hairpin mode, as the bridge CNI sets it with `hairpinMode: true` (kubelet's
    // `--hairpin-mode`): with br_netfilter the DNAT of a pod's connection to a nodePort
    // happens while the frame is bridged, and when it lands on the pod itself the bridge
    // must send the frame back out of the port it came in by. Without this such a
    // connection times out.
    netns::ip_in(
        node,
        &[
            "link",
            "set",
            bridge_port,
            "type",
            "bridge_slave",
            "hairpin",
            "on",
        ],
    )?;
    configure_host(pod, "srk-eth", ip, 24, gateway)
}

fn attach_to_switch(router: &str, port: &str, host: &str) -> Result<(), String> {
    netns::add_veth(router, port, host, "srk-uplink")?;
    netns::ip_in(router, &["link", "set", port, "master", "srk-switch", "up"])
}

fn configure_host(
    namespace: &str,
    interface: &str,
    ip: Ipv4Addr,
    prefix_len: u8,
    gateway: Ipv4Addr,
) -> Result<(), String> {
    netns::ip_in(
        namespace,
        &[
            "addr",
            "add",
            &format!("{ip}/{prefix_len}"),
            "dev",
            interface,
        ],
    )?;
    netns::ip_in(namespace, &["link", "set", interface, "up"])?;
    netns::ip_in(
        namespace,
        &["route", "add", "default", "via", &gateway.to_string()],
    )
}

/// Strict reverse-path filtering would drop some asymmetric test paths; real nodes with
/// kube-proxy typically run with it loose or off.
fn disable_reverse_path_filter(namespace: &str) -> Result<(), String> {
    netns::set_sysctl(namespace, "net/ipv4/conf/all/rp_filter", "0")?;
    netns::set_sysctl(namespace, "net/ipv4/conf/default/rp_filter", "0")
}
