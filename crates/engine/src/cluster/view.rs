//! The cluster as an operator reads it (`tradeengine cluster status`, `GET /api/v1/cluster`):
//! who trades what is what the **leases** say now, not what each process last said of itself.
//! A process killed or suspended keeps its last heartbeat's list in its row; shown as is, it
//! read "trades by" a dead process next to the live holder, on exactly the question "which
//! engine do I stop?".

use tradeengine_store::cluster::{LeaseRow, NodeRow};

/// Each node's `holds` replaced by the accounts whose unexpired lease it holds; `stale` when its
/// heartbeat is older than `ttl_ms` (killed, suspended or cut off: its leases lapse or have).
pub fn by_leases(nodes: &[NodeRow], leases: &[LeaseRow], ttl_ms: i64) -> Vec<NodeView> {
    nodes
        .iter()
        .map(|n| NodeView {
            holds: leases
                .iter()
                .filter(|l| l.holder == n.node_id && l.expires_in_ms > 0)
                .map(|l| l.account.clone())
                .collect(),
            stale: n.heartbeat_ms != 0 && n.heartbeat_age_ms > ttl_ms,
            node: n.clone(),
        })
        .collect()
}

/// One process, with what it trades by the leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// The row as stored; its own `holds` (the last heartbeat's word) is not shown.
    pub node: NodeRow,
    /// The accounts whose unexpired lease it holds.
    pub holds: Vec<String>,
    /// No heartbeat for longer than a lease lasts.
    pub stale: bool,
}

impl serde::Serialize for NodeView {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let n = &self.node;
        let mut st = s.serialize_struct("NodeView", 8)?;
        st.serialize_field("node_id", &n.node_id)?;
        st.serialize_field("host", &n.host)?;
        st.serialize_field("pid", &n.pid)?;
        st.serialize_field("started_ms", &n.started_ms)?;
        st.serialize_field("heartbeat_ms", &n.heartbeat_ms)?;
        st.serialize_field("heartbeat_age_ms", &n.heartbeat_age_ms)?;
        st.serialize_field("holds", &self.holds)?;
        st.serialize_field("stale", &self.stale)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, beat_age: i64, holds: &[&str]) -> NodeRow {
        NodeRow {
            node_id: id.into(),
            host: "h".into(),
            pid: 1,
            started_ms: 1,
            heartbeat_ms: 10,
            holds: holds.iter().map(|s| s.to_string()).collect(),
            heartbeat_age_ms: beat_age,
        }
    }

    fn lease(account: &str, holder: &str, expires_in_ms: i64) -> LeaseRow {
        LeaseRow {
            account: account.into(),
            token: 1,
            holder: holder.into(),
            pid: 1,
            since_ms: 1,
            expires_in_ms,
        }
    }

    #[test]
    fn a_dead_process_trades_nothing_whatever_its_last_heartbeat_said() {
        let nodes = [node("dead", 33_000, &["a", "b"]), node("live", 500, &["b"])];
        let leases = [lease("a", "dead", -27_000), lease("b", "live", 5_000)];
        let v = by_leases(&nodes, &leases, 6_000);
        assert_eq!((v[0].holds.len(), v[0].stale), (0, true));
        assert_eq!(
            (v[1].holds.clone(), v[1].stale),
            (vec!["b".to_string()], false)
        );
        let json = serde_json::to_value(&v[0]).unwrap_or_default();
        assert_eq!(json["holds"], serde_json::json!([]), "{json}");
        assert_eq!(json["stale"], true, "{json}");
    }
}
