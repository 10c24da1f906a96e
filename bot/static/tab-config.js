// The team tab's configuration page: Teams shows it when the tab is added to a channel or
// a group chat; the choice becomes the tab's contentUrl (/tab?tab=...).
"use strict";

async function configure() {
  const select = document.getElementById("first");
  await microsoftTeams.app.initialize();
  const context = await microsoftTeams.app.getContext();
  document.body.className = `theme-${context.app.theme || "default"}`;
  microsoftTeams.pages.config.registerOnSaveHandler(async (saveEvent) => {
    const url = `${location.origin}/tab?tab=${encodeURIComponent(select.value)}`;
    await microsoftTeams.pages.config.setConfig({
      entityId: `dashboard-${select.value}`, contentUrl: url, websiteUrl: url,
      suggestedDisplayName: "Commercy",
    });
    saveEvent.notifySuccess();
  });
  microsoftTeams.pages.config.setValidityState(true);
}

configure().catch(() => {
  // Outside Teams there is nothing to configure; the page only explains itself.
});
