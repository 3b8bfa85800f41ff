#include "cache/row_removal.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/rel.h"
}

#include <cstring>

namespace ai_scale::cache {

namespace {

// Whether the row with this header is deleted or updated by a transaction not rolled back.
// Reads the transaction's state: the header is a copy, taken under the page's lock.
bool removed_by_header(HeapTupleHeader header)
{
    const uint16 mask = header->t_infomask;
    if ((mask & HEAP_XMAX_INVALID) != 0 || HEAP_XMAX_IS_LOCKED_ONLY(mask))
        return false;
    // The updater of a multixact (lockers and at most one updater), else xmax itself.
    const TransactionId updater = HeapTupleHeaderGetUpdateXid(header);
    if (!TransactionIdIsValid(updater))
        return false;
    if (TransactionIdIsCurrentTransactionId(updater) || TransactionIdIsInProgress(updater))
        return true;
    return TransactionIdDidCommit(updater);
}

} // namespace

bool row_may_be_removed(Oid relid, ItemPointer tid)
{
    // Locked by the lookup that read the row there, which keeps its block in the table (a
    // truncation locks it fully): asked for its length, the table cost a system call a row.
    Relation rel = relation_open(relid, NoLock);
    bool removed = true;
    if (rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_tableam == GetHeapamTableAmRoutine() &&
        ItemPointerIsValid(tid)) {
        Buffer buffer = ReadBuffer(rel, ItemPointerGetBlockNumber(tid));
        LockBuffer(buffer, BUFFER_LOCK_SHARE);
        const Page page = BufferGetPage(buffer);
        const OffsetNumber offset = ItemPointerGetOffsetNumber(tid);
        bool found = false;
        HeapTupleHeaderData header;
        if (offset >= FirstOffsetNumber && offset <= PageGetMaxOffsetNumber(page)) {
            const ItemId item = PageGetItemId(page, offset);
            if (ItemIdIsNormal(item)) {
                memcpy(&header, PageGetItem(page, item), SizeofHeapTupleHeader);
                found = true;
            }
        }
        UnlockReleaseBuffer(buffer);
        if (found)
            removed = removed_by_header(&header);
    }
    relation_close(rel, NoLock);
    return removed;
}

} // namespace ai_scale::cache
