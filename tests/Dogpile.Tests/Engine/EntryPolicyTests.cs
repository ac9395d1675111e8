using Dogpile.Engine;

namespace Dogpile.Tests.Engine;

/// <summary>Dogpile's decision table, every cell: (entry state × backing off × refresh busy × mode) → what the read does.</summary>
public sealed class EntryPolicyTests
{
    public static TheoryData<string, bool, bool, bool, string> Cells()
    {
        var cells = new TheoryData<string, bool, bool, bool, string>();
        foreach (bool backingOff in new[] { false, true })
        {
            foreach (bool busy in new[] { false, true })
            {
                foreach (bool background in new[] { false, true })
                {
                    // Nothing to serve: wait for the one creation, whatever else holds.
                    Add(cells, EntryState.Missing, backingOff, busy, background, ReadAction.Wait);

                    // Fresh: served, no lock touched.
                    Add(cells, EntryState.Fresh, backingOff, busy, background, ReadAction.Serve);

                    // Fresh but due for early refresh: one refresh starts unless one runs already or the key backs off.
                    Add(cells, EntryState.FreshEarly, backingOff, busy, background, backingOff || busy ? ReadAction.Serve : ReadAction.ServeAndRefreshEarly);

                    // Stale: served stale while a refresh runs or after a failure; otherwise one caller is elected, and it
                    // refreshes in the background or (synchronous mode) regenerates in line.
                    Add(cells, EntryState.Stale, backingOff, busy, background,
                        backingOff || busy ? ReadAction.ServeStale : background ? ReadAction.ServeStaleAndRefresh : ReadAction.ElectToRegenerate);

                    // Past MaxStaleness: only a fallback after a failure (stale-if-error); otherwise wait for a fresh value.
                    Add(cells, EntryState.TooStale, backingOff, busy, background, backingOff ? ReadAction.ServeStale : ReadAction.Wait);
                }
            }
        }

        return cells;

        // The engine's enums are internal: the cells carry their names, which also read well in the test list.
        static void Add(TheoryData<string, bool, bool, bool, string> to, EntryState state, bool backingOff, bool busy, bool background, ReadAction action)
            => to.Add(state.ToString(), backingOff, busy, background, action.ToString());
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Decide_EveryCell(string state, bool backingOff, bool refreshBusy, bool backgroundRefresh, string expected)
        => Assert.Equal(expected, EntryPolicy.Decide(Enum.Parse<EntryState>(state), backingOff, refreshBusy, backgroundRefresh).ToString());

    [Fact]
    public void Cells_CoverTheWholeTable()
        => Assert.Equal(Enum.GetValues<EntryState>().Length * 2 * 2 * 2, Cells().Count);
}
