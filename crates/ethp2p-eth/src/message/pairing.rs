//! Request/response pairing helpers used by sessions: rewriting request ids
//! and building the empty response a node sends for data it does not have.

use super::{request::Cells, request::Receipts70, EthMessage, RawList, RequestPair};

impl EthMessage {
    /// Sets the request id of a request or response; `false` for other messages.
    pub fn set_request_id(&mut self, id: u64) -> bool {
        macro_rules! set {
            ($($v:ident),*) => {
                match self {
                    $(EthMessage::$v(p) => { p.request_id = id; true })*
                    _ => false,
                }
            };
        }
        set!(
            GetBlockHeaders,
            BlockHeaders,
            GetBlockBodies,
            BlockBodies,
            GetPooledTransactions,
            PooledTransactions,
            GetNodeData,
            NodeData,
            GetReceipts,
            GetReceipts70,
            Receipts,
            Receipts70,
            GetBlockAccessLists,
            BlockAccessLists,
            GetCells,
            Cells
        )
    }

    /// The empty response of the right type to this request (same request
    /// id), or `None` if this is not a request. Used to answer requests a node
    /// cannot serve, rather than staying silent.
    pub fn empty_response(&self) -> Option<EthMessage> {
        let id = self.request_id()?;
        let raw = || RequestPair {
            request_id: id,
            message: RawList::empty(),
        };
        Some(match self {
            EthMessage::GetBlockHeaders(_) => EthMessage::BlockHeaders(raw()),
            EthMessage::GetBlockBodies(_) => EthMessage::BlockBodies(raw()),
            EthMessage::GetPooledTransactions(_) => EthMessage::PooledTransactions(raw()),
            EthMessage::GetNodeData(_) => EthMessage::NodeData(raw()),
            EthMessage::GetReceipts(_) => EthMessage::Receipts(raw()),
            EthMessage::GetReceipts70(_) => EthMessage::Receipts70(RequestPair {
                request_id: id,
                message: Receipts70 {
                    last_block_incomplete: false,
                    receipts: RawList::empty(),
                },
            }),
            EthMessage::GetBlockAccessLists(_) => EthMessage::BlockAccessLists(raw()),
            EthMessage::GetCells(r) => EthMessage::Cells(RequestPair {
                request_id: id,
                message: Cells {
                    hashes: Vec::new(),
                    cells: RawList::empty(),
                    cell_mask: r.message.cell_mask,
                },
            }),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{message::BlockHashOrNumber, message::GetBlockHeaders, version::EthVersion};

    #[test]
    fn empty_responses_match_their_requests() {
        let req = EthMessage::GetBlockHeaders(RequestPair {
            request_id: 7,
            message: GetBlockHeaders {
                start: BlockHashOrNumber::Number(1),
                limit: 1,
                skip: 0,
                reverse: false,
            },
        });
        let resp = req.empty_response().unwrap();
        assert_eq!(resp.request_id(), Some(7));
        assert_eq!(req.id().response(), Some(resp.id()));
        assert!(resp.validate_for(EthVersion::Eth69).is_ok());
        let mut m = resp.clone();
        assert!(m.set_request_id(9));
        assert_eq!(m.request_id(), Some(9));
        assert!(EthMessage::Transactions(RawList::empty())
            .empty_response()
            .is_none());
    }
}
