#include "cache/lineage_rules.hpp"

#include <gtest/gtest.h>

namespace lineage = ai_scale::cache::lineage;

// A point-in-time restore (recovery.signal) and a base backup started as it is (backup_label)
// draw a new lineage; a standby made from a backup (standby.signal, with either) and a plain
// restart keep theirs.
TEST(LineageRules, OnlyARestoreThatIsNoStandbyStartsANewLineage)
{
    EXPECT_FALSE(lineage::restored_start(false, false, false)) << "a restart";
    EXPECT_TRUE(lineage::restored_start(true, false, false)) << "a restart while restoring";
    EXPECT_TRUE(lineage::restored_start(true, true, false)) << "a point-in-time restore";
    EXPECT_TRUE(lineage::restored_start(false, true, false)) << "a clone";
    EXPECT_FALSE(lineage::restored_start(false, true, true)) << "a new standby";
    EXPECT_FALSE(lineage::restored_start(true, true, true)) << "standby.signal wins";
    EXPECT_FALSE(lineage::restored_start(false, false, true)) << "a standby restarting";
}

TEST(LineageRules, TheFileReadsBackWhatWasWritten)
{
    for (uint64_t v : {uint64_t(1), uint64_t(0xdeadbeefcafef00d), ~uint64_t(0)})
        EXPECT_EQ(lineage::parse(lineage::format(v)), v);
    EXPECT_EQ(lineage::format(0xab), "00000000000000ab\n");
}

TEST(LineageRules, AnythingElseInTheFileIsNoLineage)
{
    EXPECT_FALSE(lineage::parse(""));
    EXPECT_FALSE(lineage::parse("0000000000000000\n")) << "0 is the absence of one";
    EXPECT_FALSE(lineage::parse("00000000000000ab")) << "no newline: cut short";
    EXPECT_FALSE(lineage::parse("000000000000000ab\n")) << "17 digits";
    EXPECT_FALSE(lineage::parse("000000000000000ab")) << "17 digits, no newline: the right length";
    EXPECT_FALSE(lineage::parse("00000000000000AB\n")) << "written in lower case";
    EXPECT_FALSE(lineage::parse("00000000000000ag\n"));
    EXPECT_FALSE(lineage::parse("00000000000000ab\n\n"));
}

// Lineage 0 keeps the system identifier, so the keys of a cluster never restored stay what
// they were; a lineage makes another identity, and two lineages two.
TEST(LineageRules, ALineageChangesTheIdentityOfTheKeys)
{
    const uint64_t sysid = 7714191749199675234ULL;
    EXPECT_EQ(lineage::cluster_identity(sysid, 0), sysid);
    EXPECT_NE(lineage::cluster_identity(sysid, 1), sysid);
    EXPECT_NE(lineage::cluster_identity(sysid, 1), lineage::cluster_identity(sysid, 2));
    EXPECT_NE(lineage::cluster_identity(sysid, 1), lineage::cluster_identity(sysid + 1, 1));
}
