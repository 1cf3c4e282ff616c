// The hub's answers read back: file lists, paging links, error statuses;
// checksums of downloaded bytes; Content-Range.
#include <gtest/gtest.h>

#include <string>

#include "hub/download.h"
#include "hub/file_digest.h"
#include "hub/hub_client.h"

namespace ig::hub {
namespace {

TEST(HubListing, ReadsFilesWithLfsChecksumsAndSkipsFolders) {
    const std::string json = R"([
      {"type": "directory", "oid": "x", "size": 0, "path": "sub"},
      {"type": "file", "oid": "ce013625030ba8dba906f756967f9e9ca394464a", "size": 6,
       "path": "README.md"},
      {"type": "file", "oid": "1111111111111111111111111111111111111111", "size": 1000,
       "path": "sub/m.gguf", "lfs": {"oid": "ABCDEF", "size": 123456, "pointerSize": 134}}
    ])";
    auto files = parse_tree_listing(json);
    ASSERT_TRUE(files.ok()) << files.error().message;
    ASSERT_EQ(files->size(), 2u);
    EXPECT_EQ((*files)[0].path, "README.md");
    EXPECT_EQ((*files)[0].size, 6);
    EXPECT_EQ((*files)[0].sha256, "");
    EXPECT_EQ((*files)[1].path, "sub/m.gguf");
    EXPECT_EQ((*files)[1].size, 123456);  // the content's size, not the pointer's
    EXPECT_EQ((*files)[1].sha256, "ABCDEF");
    EXPECT_FALSE(parse_tree_listing("{\"error\": \"x\"}").ok());
    EXPECT_FALSE(parse_tree_listing("not json").ok());
    EXPECT_FALSE(parse_tree_listing(R"([{"type": "file", "path": "a"}])").ok());
    EXPECT_FALSE(parse_tree_listing(R"([{"type": "file", "path": "a", "size": -1}])").ok());
}

TEST(HubListing, FollowsTheNextLinkOnly) {
    EXPECT_EQ(next_page_link(R"(<https://h/api/x?cursor=abc>; rel="next")"),
              "https://h/api/x?cursor=abc");
    EXPECT_EQ(next_page_link(R"(<https://h/p1>; rel="prev", <https://h/p3>; rel="next")"),
              "https://h/p3");
    EXPECT_EQ(next_page_link(R"(<https://h/p1>; rel="prev")"), "");
    EXPECT_EQ(next_page_link(""), "");
}

TEST(HubErrors, StatusesNameTheCauseAndTheToken) {
    HttpResponse r;
    r.status = 401;
    r.headers["x-error-message"] = "Access to model o/m is restricted.";
    Error e = hub_status_error(r, "listing o/m", false);
    EXPECT_NE(e.message.find("401"), std::string::npos);
    EXPECT_NE(e.message.find("set HF_TOKEN"), std::string::npos);
    EXPECT_NE(e.message.find("is restricted"), std::string::npos);
    EXPECT_NE(hub_status_error(r, "x", true).message.find("HF_TOKEN was refused"),
              std::string::npos);
    r.status = 404;
    r.headers.clear();
    r.error_body = R"({"error": "Repository not found"})";
    e = hub_status_error(r, "listing o/nope", false);
    EXPECT_EQ(e.code, ErrorCode::NotFound);
    EXPECT_NE(e.message.find("Repository not found"), std::string::npos);
    r.status = 403;
    EXPECT_NE(hub_status_error(r, "x", true).message.find("403"), std::string::npos);
    r.status = 500;
    r.reason = "Internal Server Error";
    EXPECT_EQ(hub_status_error(r, "x", true).code, ErrorCode::Io);
}

TEST(HubDigest, GitBlobSha1AndSha256AsTheHubListsThem) {
    // `printf 'hello\n' | git hash-object --stdin`
    RemoteFile git{"README.md", 6, "ce013625030ba8dba906f756967f9e9ca394464a", ""};
    FileDigest d(git);
    EXPECT_STREQ(d.kind(), "git blob sha1");
    d.update("hel", 3);
    d.update("lo\n", 3);
    EXPECT_EQ(d.finish(), d.expected());
    d.restart();
    d.update("hello!", 6);
    EXPECT_NE(d.finish(), d.expected());

    // `printf 'hello\n' | sha256sum`, upper case as some mirrors list it
    RemoteFile lfs{"m.gguf", 6, "",
                   "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03"};
    FileDigest s(lfs);
    EXPECT_STREQ(s.kind(), "sha256");
    s.update("hello\n", 6);
    EXPECT_EQ(s.finish(), s.expected());
}

TEST(HubDownload, ContentRangeOfAResumedTransfer) {
    auto cr = parse_content_range("bytes 100-199/200");
    ASSERT_TRUE(cr.ok());
    EXPECT_EQ(cr->first, 100);
    EXPECT_EQ(cr->last, 199);
    EXPECT_EQ(cr->total, 200);
    auto unknown = parse_content_range("bytes 0-9/*");
    ASSERT_TRUE(unknown.ok());
    EXPECT_EQ(unknown->total, -1);
    for (const char* bad : {"", "bytes */200", "bytes 5-4/200", "bytes 0-199/199", "items 0-1/2",
                            "bytes a-b/c", "bytes 0-1"})
        EXPECT_FALSE(parse_content_range(bad).ok()) << bad;
    EXPECT_EQ(partial_path("/m/o--n/x.gguf").string(), "/m/o--n/x.gguf.partial");
}

}  // namespace
}  // namespace ig::hub
